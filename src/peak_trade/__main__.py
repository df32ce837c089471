from peak_trade.cli.main import main

raise SystemExit(main())
