"""The files every court package carries so anyone can check it: verify.py (standard library only) and its README."""
