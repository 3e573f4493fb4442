from cachechaos.cli import main

main()
