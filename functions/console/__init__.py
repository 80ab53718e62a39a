"""The console: server-rendered pages for the people who use Vigil in a browser.

Police open a D2P email's link and act on the case; store staff report from a phone;
investigators and admins search and configure. Pages live in the same app as the API,
at `/`, and call the same services with the same principal and role checks.
"""
