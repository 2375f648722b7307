"""Downloads from local storage behind signed, expiring URLs."""
