"""The compare process: what plans, launches and reports configurations, above the ranks.

The sweep (sweep), the launcher and its timeouts (launch; process lifetime is
jaxpar.core.lifetime), the results files (results), statistics and scaling metrics
(stats), the fits of the collectives (alphabeta), where the time goes (attribution),
code size (codesize), the record schema (schema) and the report (report). What runs
inside each rank is jaxpar.rank; the talk's claims are jaxpar.claims. No implementation
imports it; nothing here is counted as code size.
"""
