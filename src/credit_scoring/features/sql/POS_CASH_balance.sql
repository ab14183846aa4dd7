-- One row per month of a previous point-of-sale or cash loan.
SELECT
    SK_ID_CURR,
    SK_ID_PREV,
    whole(MONTHS_BALANCE) AS MONTHS_BALANCE,
    whole(CNT_INSTALMENT) AS CNT_INSTALMENT,
    whole(CNT_INSTALMENT_FUTURE) AS CNT_INSTALMENT_FUTURE,
    whole(SK_DPD) AS SK_DPD,
    whole(SK_DPD_DEF) AS SK_DPD_DEF,
    flag(SK_DPD > 0) AS DPD_MONTH,
    flag(SK_DPD_DEF > 0) AS DPD_DEF_MONTH,
    flag(NAME_CONTRACT_STATUS = 'Completed') AS COMPLETED,
    flag(NAME_CONTRACT_STATUS = 'Active') AS ACTIVE
FROM POS_CASH_balance
