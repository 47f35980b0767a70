"""Single sign-on, identity linking and server-side sessions."""
