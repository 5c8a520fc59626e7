"""台账 (issue 12): the ledgers an office keeps, streamed as XLSX or CSV."""
