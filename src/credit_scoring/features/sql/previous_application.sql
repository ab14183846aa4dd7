-- One row per previous application at Home Credit. XNA ("not available") and XAP ("not
-- applicable") count as missing, so a share is taken over the applications where it means something.
SELECT
    SK_ID_CURR,
    SK_ID_PREV,
    amount(AMT_ANNUITY) AS AMT_ANNUITY,
    amount(AMT_APPLICATION) AS AMT_APPLICATION,
    amount(AMT_CREDIT) AS AMT_CREDIT,
    amount(AMT_DOWN_PAYMENT) AS AMT_DOWN_PAYMENT,
    amount(AMT_GOODS_PRICE) AS AMT_GOODS_PRICE,
    ratio(AMT_APPLICATION, AMT_CREDIT) AS APP_CREDIT_RATIO,
    amount(AMT_APPLICATION - AMT_CREDIT) AS APP_CREDIT_DIFF,
    ratio(RATE_DOWN_PAYMENT, 1) AS RATE_DOWN_PAYMENT,
    -- What the client pays back on top of the credit, as a share of the credit.
    ratio(AMT_ANNUITY * CNT_PAYMENT - AMT_CREDIT, AMT_CREDIT) AS COST_RATIO,
    whole(DAYS_DECISION) AS DAYS_DECISION,
    whole(CNT_PAYMENT) AS CNT_PAYMENT,
    no_sentinel(DAYS_FIRST_DRAWING) AS DAYS_FIRST_DRAWING,
    no_sentinel(DAYS_FIRST_DUE) AS DAYS_FIRST_DUE,
    no_sentinel(DAYS_LAST_DUE_1ST_VERSION) AS DAYS_LAST_DUE_1ST_VERSION,
    no_sentinel(DAYS_LAST_DUE) AS DAYS_LAST_DUE,
    no_sentinel(DAYS_TERMINATION) AS DAYS_TERMINATION,
    flag(NAME_CONTRACT_STATUS = 'Approved') AS IS_APPROVED,
    flag(NAME_CONTRACT_STATUS = 'Refused') AS IS_REFUSED,
    flag(NAME_CONTRACT_STATUS = 'Canceled') AS IS_CANCELED,
    flag(NAME_CONTRACT_STATUS = 'Unused offer') AS IS_UNUSED_OFFER,
    -- Approved and its last due date not passed yet: the loan is still running.
    flag(
        NAME_CONTRACT_STATUS = 'Approved'
        AND (DAYS_LAST_DUE = {days_sentinel} OR DAYS_LAST_DUE > 0)
    ) AS IS_RUNNING,
    flag(nullif(NAME_CONTRACT_TYPE, 'XNA') = 'Cash loans') AS CASH_LOAN,
    flag(nullif(NAME_CONTRACT_TYPE, 'XNA') = 'Consumer loans') AS CONSUMER_LOAN,
    flag(nullif(NAME_CONTRACT_TYPE, 'XNA') = 'Revolving loans') AS REVOLVING_LOAN,
    flag(nullif(NAME_YIELD_GROUP, 'XNA') = 'high') AS YIELD_HIGH,
    flag(nullif(NAME_YIELD_GROUP, 'XNA') IN ('low_normal', 'low_action')) AS YIELD_LOW,
    flag(nullif(NAME_CLIENT_TYPE, 'XNA') = 'New') AS NEW_CLIENT,
    flag(nullif(NAME_PRODUCT_TYPE, 'XNA') = 'x-sell') AS X_SELL,
    flag(NFLAG_INSURED_ON_APPROVAL = 1) AS INSURED,
    flag(nullif(nullif(CODE_REJECT_REASON, 'XAP'), 'XNA') = 'HC') AS REJECT_HC,
    flag(nullif(nullif(CODE_REJECT_REASON, 'XAP'), 'XNA') = 'LIMIT') AS REJECT_LIMIT,
    flag(nullif(nullif(CODE_REJECT_REASON, 'XAP'), 'XNA') IN ('SCO', 'SCOFR')) AS REJECT_SCORE
FROM previous_application
