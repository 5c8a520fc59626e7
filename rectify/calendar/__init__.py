"""Holiday calendar: published years as data (config/calendar/, the calendar_years table), the
provisional calendar for years without data, and the recomputation of provisional deadlines."""
