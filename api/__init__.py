"""REST API over Pinot. Built in the API issue."""
