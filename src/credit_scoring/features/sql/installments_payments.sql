-- One row per payment of an instalment of a previous Home Credit loan.
SELECT
    SK_ID_CURR,
    SK_ID_PREV,
    -- The rank of its due day among the client's, counted back from the latest (1), for the
    -- trends over the latest instalments. Payments due the same day (parts of one instalment,
    -- or of two loans) share a rank: no tie to break, so no dependence on row order.
    dense_rank() OVER (PARTITION BY SK_ID_CURR ORDER BY DAYS_INSTALMENT DESC NULLS LAST)
        AS RECENT_RANK,
    whole(DAYS_INSTALMENT) AS DAYS_INSTALMENT,
    whole(DAYS_ENTRY_PAYMENT) AS DAYS_ENTRY_PAYMENT,
    whole(positive_part(DAYS_ENTRY_PAYMENT - DAYS_INSTALMENT)) AS DPD,
    whole(positive_part(DAYS_INSTALMENT - DAYS_ENTRY_PAYMENT)) AS DBD,
    flag(DAYS_ENTRY_PAYMENT > DAYS_INSTALMENT) AS LATE,
    flag(DAYS_ENTRY_PAYMENT - DAYS_INSTALMENT > 30) AS LATE_30,
    amount(AMT_INSTALMENT) AS AMT_INSTALMENT,
    amount(AMT_PAYMENT) AS AMT_PAYMENT,
    ratio(AMT_PAYMENT, AMT_INSTALMENT) AS PAYMENT_RATIO,
    amount(positive_part(AMT_INSTALMENT - AMT_PAYMENT)) AS UNDERPAYMENT,
    flag(AMT_PAYMENT < AMT_INSTALMENT) AS UNDERPAID
FROM installments_payments
