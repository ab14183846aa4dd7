-- One row per credit reported by the credit bureau, with its monthly history summarised first.
-- Statuses: 0 = no overdue, 1 to 5 = overdue by 1-30, 31-60, 61-90, 91-120, over 120 days
-- (or sold), C = closed, X = unknown.
WITH months AS (
    SELECT SK_ID_BUREAU, MONTHS_BALANCE, STATUS, TRY_CAST(STATUS AS INTEGER) AS LEVEL
    FROM bureau_balance
),
balance AS (
    SELECT
        SK_ID_BUREAU,
        count(*) AS BB_MONTHS,
        whole(min(MONTHS_BALANCE)) AS BB_FIRST_MONTH,
        count(CASE WHEN LEVEL >= 1 THEN 1 END) AS BB_DPD_MONTHS,
        count(CASE WHEN LEVEL >= 2 THEN 1 END) AS BB_DPD30_MONTHS,
        count(CASE WHEN LEVEL = 0 THEN 1 END) AS BB_OK_MONTHS,
        count(CASE WHEN STATUS = 'C' THEN 1 END) AS BB_CLOSED_MONTHS,
        count(CASE WHEN STATUS = 'X' THEN 1 END) AS BB_UNKNOWN_MONTHS,
        whole(max(LEVEL)) AS BB_WORST_STATUS,
        count(CASE WHEN MONTHS_BALANCE >= -12 THEN 1 END) AS BB_MONTHS_12M,
        count(CASE WHEN LEVEL >= 1 AND MONTHS_BALANCE >= -12 THEN 1 END) AS BB_DPD_MONTHS_12M,
        whole(max(CASE WHEN MONTHS_BALANCE >= -12 THEN LEVEL END)) AS BB_WORST_STATUS_12M,
        whole(max(CASE WHEN LEVEL >= 1 THEN MONTHS_BALANCE END)) AS BB_LAST_DPD_MONTH
    FROM months
    GROUP BY SK_ID_BUREAU
)
SELECT
    b.SK_ID_CURR,
    b.SK_ID_BUREAU,
    flag(b.CREDIT_ACTIVE = 'Active') AS IS_ACTIVE,
    flag(b.CREDIT_ACTIVE = 'Closed') AS IS_CLOSED,
    flag(b.CREDIT_ACTIVE IN ('Sold', 'Bad debt')) AS SOLD_OR_BAD_DEBT,
    whole(b.DAYS_CREDIT) AS DAYS_CREDIT,
    whole(b.CREDIT_DAY_OVERDUE) AS CREDIT_DAY_OVERDUE,
    whole(b.DAYS_CREDIT_ENDDATE) AS DAYS_CREDIT_ENDDATE,
    whole(b.DAYS_ENDDATE_FACT) AS DAYS_ENDDATE_FACT,
    whole(b.DAYS_CREDIT_UPDATE) AS DAYS_CREDIT_UPDATE,
    whole(b.DAYS_CREDIT_ENDDATE - b.DAYS_CREDIT) AS DURATION,
    -- Positive: closed later than planned; negative: repaid early.
    whole(b.DAYS_ENDDATE_FACT - b.DAYS_CREDIT_ENDDATE) AS ENDDATE_GAP,
    amount(b.AMT_CREDIT_MAX_OVERDUE) AS AMT_CREDIT_MAX_OVERDUE,
    whole(b.CNT_CREDIT_PROLONG) AS CNT_CREDIT_PROLONG,
    amount(b.AMT_CREDIT_SUM) AS AMT_CREDIT_SUM,
    amount(b.AMT_CREDIT_SUM_DEBT) AS AMT_CREDIT_SUM_DEBT,
    amount(b.AMT_CREDIT_SUM_LIMIT) AS AMT_CREDIT_SUM_LIMIT,
    amount(b.AMT_CREDIT_SUM_OVERDUE) AS AMT_CREDIT_SUM_OVERDUE,
    amount(b.AMT_ANNUITY) AS AMT_ANNUITY,
    ratio(b.AMT_CREDIT_SUM_DEBT, b.AMT_CREDIT_SUM) AS DEBT_RATIO,
    flag(b.CREDIT_DAY_OVERDUE > 0) AS OVERDUE,
    flag(b.CNT_CREDIT_PROLONG > 0) AS PROLONGED,
    flag(b.CREDIT_TYPE = 'Consumer credit') AS CONSUMER_CREDIT,
    flag(b.CREDIT_TYPE = 'Credit card') AS CREDIT_CARD,
    flag(b.CREDIT_TYPE = 'Car loan') AS CAR_LOAN,
    flag(b.CREDIT_TYPE = 'Mortgage') AS MORTGAGE,
    flag(b.CREDIT_TYPE = 'Microloan') AS MICROLOAN,
    balance.BB_MONTHS,
    balance.BB_FIRST_MONTH,
    balance.BB_DPD_MONTHS,
    balance.BB_DPD30_MONTHS,
    balance.BB_OK_MONTHS,
    balance.BB_CLOSED_MONTHS,
    balance.BB_UNKNOWN_MONTHS,
    balance.BB_WORST_STATUS,
    balance.BB_MONTHS_12M,
    balance.BB_DPD_MONTHS_12M,
    balance.BB_WORST_STATUS_12M,
    balance.BB_LAST_DPD_MONTH,
    flag(balance.BB_DPD_MONTHS > 0) AS BB_EVER_DPD
FROM bureau AS b
LEFT JOIN balance USING (SK_ID_BUREAU)
