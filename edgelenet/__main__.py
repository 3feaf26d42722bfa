from edgelenet.cli import main

main()
