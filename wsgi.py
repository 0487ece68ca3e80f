from imagin import create_app

app = create_app()
