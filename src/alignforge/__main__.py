from alignforge.cli import main

main()
