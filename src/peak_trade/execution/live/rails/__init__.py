"""Pre-trade rails: the rules every new order passes before the broker (`rules`), their config
(`config`), the controls issue 12 added (`controls`), the kill switch (`kill_switch`) and the gate
that holds the rails' windows between steps and asks the rules (`pretrade`).
"""
