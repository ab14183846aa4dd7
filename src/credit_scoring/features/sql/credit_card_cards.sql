-- One row per previous credit card: its latest known month.
SELECT
    SK_ID_CURR,
    SK_ID_PREV,
    arg_max_null(amount(AMT_BALANCE), (MONTHS_BALANCE, AMT_BALANCE)) AS CURRENT_BALANCE,
    arg_max_null(amount(AMT_CREDIT_LIMIT_ACTUAL), (MONTHS_BALANCE, AMT_CREDIT_LIMIT_ACTUAL))
        AS CURRENT_LIMIT
FROM credit_card_balance
GROUP BY SK_ID_CURR, SK_ID_PREV
