"""Administration: accounts, their roles and quotas, and the audit log (admin role, `admin` scope)."""
