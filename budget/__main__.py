from budget.cli.app import main

main()
