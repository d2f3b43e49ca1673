from broadsheet.cli import entry

entry()
