// Manager dashboard scripts (try-it page lives in dashboard-tryit.js).
