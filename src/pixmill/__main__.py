from pixmill.cli import app

app()
