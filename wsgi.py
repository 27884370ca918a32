from lms import create_app

app = create_app()
