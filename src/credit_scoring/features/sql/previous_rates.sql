-- One row per previous application repaid by instalments (an amount, an annuity and a term):
-- the yearly interest rate they imply. The monthly rate r solves
-- AMT_ANNUITY = AMT_CREDIT * r / (1 - (1 + r)^-CNT_PAYMENT) by six Newton steps from r = q,
-- the annuity per unit of credit (an upper bound of r), written out one query level each.
-- Revolving loans (no term) and canceled applications (no annuity) have no rate, hence no row.
WITH loans AS (
    SELECT
        SK_ID_CURR,
        SK_ID_PREV,
        DAYS_DECISION,
        flag(NAME_CONTRACT_STATUS = 'Approved') AS IS_APPROVED,
        -- Annuities that do not repay the credit mean no interest (promotions): rate 0.
        flag(AMT_ANNUITY * CNT_PAYMENT > AMT_CREDIT) AS CHARGED,
        CAST(AMT_ANNUITY AS DOUBLE) / AMT_CREDIT AS Q,
        CAST(CNT_PAYMENT AS DOUBLE) AS N
    FROM previous_application
    WHERE AMT_CREDIT > 0 AND AMT_ANNUITY > 0 AND CNT_PAYMENT > 0
),
-- Each step's discount factor (1 + r)^-n comes first, a column of its own: computed once.
d0 AS (SELECT *, discount(Q, N) AS D0 FROM loans WHERE CHARGED = 1),
step1 AS (SELECT *, annuity_rate_step(Q, Q, N, D0) AS R1 FROM d0),
d1 AS (SELECT *, discount(R1, N) AS D1 FROM step1),
step2 AS (SELECT *, annuity_rate_step(R1, Q, N, D1) AS R2 FROM d1),
d2 AS (SELECT *, discount(R2, N) AS D2 FROM step2),
step3 AS (SELECT *, annuity_rate_step(R2, Q, N, D2) AS R3 FROM d2),
d3 AS (SELECT *, discount(R3, N) AS D3 FROM step3),
step4 AS (SELECT *, annuity_rate_step(R3, Q, N, D3) AS R4 FROM d3),
d4 AS (SELECT *, discount(R4, N) AS D4 FROM step4),
step5 AS (SELECT *, annuity_rate_step(R4, Q, N, D4) AS R5 FROM d4),
d5 AS (SELECT *, discount(R5, N) AS D5 FROM step5),
step6 AS (SELECT *, annuity_rate_step(R5, Q, N, D5) AS R6 FROM d5)
SELECT
    SK_ID_CURR,
    SK_ID_PREV,
    DAYS_DECISION,
    IS_APPROVED,
    -- Nine decimals, exact: means and sums of it do not depend on row order. Near a zero rate
    -- the Newton step divides two cancelling differences; there the first-order expansion
    -- q = 1/n + r (n + 1) / (2n) is exact to far better than nine decimals.
    CAST(clamp(12 * CASE WHEN N * Q - 1 < 1e-4 THEN 2 * (N * Q - 1) / (N + 1) ELSE R6 END, 0, 1000)
        AS DECIMAL(18, 9)) AS IMPLIED_RATE
FROM step6
UNION ALL
SELECT SK_ID_CURR, SK_ID_PREV, DAYS_DECISION, IS_APPROVED, CAST(0 AS DECIMAL(18, 9))
FROM loans
WHERE CHARGED = 0
