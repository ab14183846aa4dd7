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
-- (1 + r)^-n, for a whole n under 128 (Kaggle's terms: up to 84 months) by multiplications alone. power() rounds its last bit
-- differently in C libraries (DuckDB) and in Java (Spark), and the Newton steps below amplify
-- that bit into the ninth decimal; + - * / round the same way everywhere (IEEE 754).
CREATE OR REPLACE TEMP MACRO square(x) AS x * x;
CREATE OR REPLACE TEMP MACRO whole_power(b, n) AS
    CASE WHEN n % 2 >= 1 THEN b ELSE 1 END
    * CASE WHEN n % 4 >= 2 THEN square(b) ELSE 1 END
    * CASE WHEN n % 8 >= 4 THEN square(square(b)) ELSE 1 END
    * CASE WHEN n % 16 >= 8 THEN square(square(square(b))) ELSE 1 END
    * CASE WHEN n % 32 >= 16 THEN square(square(square(square(b)))) ELSE 1 END
    * CASE WHEN n % 64 >= 32 THEN square(square(square(square(square(b))))) ELSE 1 END
    * CASE WHEN n % 128 >= 64 THEN square(square(square(square(square(square(b)))))) ELSE 1 END;
CREATE OR REPLACE TEMP MACRO discount(r, n) AS
    CASE WHEN n = floor(n) AND n >= 0 AND n < 128 THEN 1 / whole_power(1 + r, n)
        ELSE power(1 + r, -n) END;
-- One Newton step towards the monthly rate r of a loan repaid by n equal instalments of q per
-- unit of credit, q = r / (1 - (1 + r)^-n), given d = (1 + r)^-n. That function of r is
-- increasing and convex: started above the root (at r = q), the steps go down to it, within 1e-10
-- after five for the rates and terms of consumer credit (features/rates.py solves the same
-- equation in NumPy).
CREATE OR REPLACE TEMP MACRO annuity_rate_step(r, q, n, d) AS
    r - (r / (1 - d) - q) * square(1 - d) / (1 - d - r * n * d / (1 + r));
