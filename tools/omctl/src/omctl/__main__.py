from omctl.cli import main

main()
