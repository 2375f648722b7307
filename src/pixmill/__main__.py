from pixmill.cli import main

main()
