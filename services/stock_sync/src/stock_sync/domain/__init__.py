"""Pure stock logic: the view a supplier asked for, SuiteQL text, change detection, scheduling."""
