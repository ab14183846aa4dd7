-- One row per previous point-of-sale or cash loan: its latest known month.
-- The value itself breaks ties between rows of the same month, so the pick is deterministic.
SELECT
    SK_ID_CURR,
    SK_ID_PREV,
    count(*) AS LOAN_MONTHS,
    arg_max_null(whole(CNT_INSTALMENT_FUTURE), (MONTHS_BALANCE, whole(CNT_INSTALMENT_FUTURE)))
        AS REMAINING_INSTALMENTS,
    ratio(
        arg_max_null(CNT_INSTALMENT_FUTURE, (MONTHS_BALANCE, CNT_INSTALMENT_FUTURE)),
        arg_max_null(CNT_INSTALMENT, (MONTHS_BALANCE, CNT_INSTALMENT))
    ) AS REMAINING_SHARE,
    flag(arg_max_null(NAME_CONTRACT_STATUS, (MONTHS_BALANCE, NAME_CONTRACT_STATUS)) = 'Completed')
        AS LAST_COMPLETED,
    flag(max(SK_DPD) > 0) AS EVER_DPD,
    whole(max(SK_DPD)) AS LOAN_DPD_MAX
FROM POS_CASH_balance
GROUP BY SK_ID_CURR, SK_ID_PREV
