-- Exact types for every summed or averaged quantity. DuckDB sums BIGINT and DECIMAL in 128-bit
-- integers, so a sum or a mean does not depend on the order rows arrive in, nor on how threads
-- split them: the batch and a single served client get bit-identical features.
CREATE OR REPLACE TEMP MACRO whole(x) AS CAST(x AS BIGINT);
CREATE OR REPLACE TEMP MACRO amount(x) AS CAST(x AS DECIMAL(18, 3));
-- CASE, not greatest/least: those skip NULLs, and a missing value must stay missing.
CREATE OR REPLACE TEMP MACRO positive_part(x) AS CASE WHEN x < 0 THEN 0 ELSE x END;
CREATE OR REPLACE TEMP MACRO clamp(x, low, high) AS
    CASE WHEN x < low THEN low WHEN x > high THEN high ELSE x END;
-- Ratios keep six decimals; the clamp keeps a near-zero denominator from overflowing DECIMAL.
CREATE OR REPLACE TEMP MACRO ratio(a, b) AS CAST(clamp(a / nullif(b, 0), -1e9, 1e9) AS DECIMAL(18, 6));
CREATE OR REPLACE TEMP MACRO flag(condition) AS CAST(condition AS INTEGER);
-- Home Credit writes 365243 (about 1,000 years) for "no date".
CREATE OR REPLACE TEMP MACRO no_sentinel(x) AS whole(nullif(x, {days_sentinel}));
-- Sort key of "the latest month, then the largest value": month first, a small whole value
-- (0 to 999,998; missing sorts first) second.
CREATE OR REPLACE TEMP MACRO latest_first(month, value) AS
    whole(month) * 1000000 + coalesce(clamp(whole(value), 0, 999998), -1);
-- One Newton step towards the monthly rate r of a loan repaid by n equal instalments of q per
-- unit of credit, q = r / (1 - (1 + r)^-n). That function of r is increasing and convex: started
-- above the root (at r = q), the steps go down to it, within 1e-10 after five for the rates and
-- terms of consumer credit (features/rates.py solves the same equation in NumPy).
CREATE OR REPLACE TEMP MACRO annuity_rate_step(r, q, n) AS
    r - (r / (1 - power(1 + r, -n)) - q) * power(1 - power(1 + r, -n), 2)
        / (1 - power(1 + r, -n) - r * n * power(1 + r, -n - 1));
