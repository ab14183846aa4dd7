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
