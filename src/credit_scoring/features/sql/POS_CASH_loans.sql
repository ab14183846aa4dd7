-- One row per previous point-of-sale or cash loan: its latest known month.
-- The sort key puts the month first and breaks ties between rows of one month by the value
-- itself, so the pick never depends on row order; a BIGINT key sorts much faster than a struct.
SELECT
    SK_ID_CURR,
    SK_ID_PREV,
    count(*) AS LOAN_MONTHS,
    arg_max_null(
        whole(CNT_INSTALMENT_FUTURE), latest_first(MONTHS_BALANCE, CNT_INSTALMENT_FUTURE)
    ) AS REMAINING_INSTALMENTS,
    ratio(
        arg_max_null(CNT_INSTALMENT_FUTURE, latest_first(MONTHS_BALANCE, CNT_INSTALMENT_FUTURE)),
        arg_max_null(CNT_INSTALMENT, latest_first(MONTHS_BALANCE, CNT_INSTALMENT))
    ) AS REMAINING_SHARE,
    arg_max_null(
        flag(NAME_CONTRACT_STATUS = 'Completed'),
        latest_first(MONTHS_BALANCE, flag(NAME_CONTRACT_STATUS = 'Completed'))
    ) AS LAST_COMPLETED,
    flag(max(SK_DPD) > 0) AS EVER_DPD,
    whole(max(SK_DPD)) AS LOAN_DPD_MAX
FROM POS_CASH_balance
GROUP BY SK_ID_CURR, SK_ID_PREV
