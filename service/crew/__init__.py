"""Crew accounts and login: the access layer in front of every crew and admin page.

Local accounts with argon2id password hashes, server-side sessions behind an HttpOnly
cookie, CSRF tokens on every form, throttled logins, and two roles: crew and admin.
"""
