"""The monthly performance review pack and the quarterly Area Performance Review pack
(docs/contract.md section 9, "Added: monthly and quarterly packs")."""
