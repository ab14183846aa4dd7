"""The one declaration of the Home Credit tables: files, columns in order, dtypes, keys.

Column order and dtypes are those pandas infers when it reads the real Kaggle CSVs
(``int64``, ``float64`` and ``object`` for strings). The twin generator, ingestion,
validation and the API's input models are all derived from this module.

Examples
--------
>>> TABLES["bureau"].primary_key
'SK_ID_BUREAU'
>>> len(TABLES["application_train"].columns), len(TABLES["application_test"].columns)
(122, 121)
>>> TABLES["bureau_balance"].file_name
'bureau_balance.csv'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Dtype = Literal["int64", "float64", "object"]

#: The sentinel Home Credit uses for "no date" in DAYS_* columns (about 1,000 years).
DAYS_SENTINEL = 365_243


@dataclass(frozen=True)
class Column:
    """One column of a Kaggle table."""

    name: str
    dtype: Dtype
    description: str


@dataclass(frozen=True)
class ForeignKey:
    """``column`` of this table refers to ``parent_column`` of ``parent``."""

    column: str
    parent: str
    parent_column: str


@dataclass(frozen=True)
class Table:
    """A Kaggle table: its file, ordered columns, keys and real row count."""

    name: str
    columns: tuple[Column, ...]
    primary_key: str | None
    foreign_keys: tuple[ForeignKey, ...]
    kaggle_rows: int

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def dtypes(self) -> dict[str, Dtype]:
        return {c.name: c.dtype for c in self.columns}

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


def _columns(*specs: tuple[str, Dtype, str]) -> tuple[Column, ...]:
    return tuple(Column(*spec) for spec in specs)


_APPLICATION_TRAIN_COLUMNS = _columns(
    ("SK_ID_CURR", "int64", "ID of loan in our sample"),
    (
        "TARGET",
        "int64",
        "Target variable (1 - client with payment difficulties: he/she had late payment more than X days on at...",
    ),
    ("NAME_CONTRACT_TYPE", "object", "Identification if loan is cash or revolving"),
    ("CODE_GENDER", "object", "Gender of the client"),
    ("FLAG_OWN_CAR", "object", "Flag if the client owns a car"),
    ("FLAG_OWN_REALTY", "object", "Flag if client owns a house or flat"),
    ("CNT_CHILDREN", "int64", "Number of children the client has"),
    ("AMT_INCOME_TOTAL", "float64", "Income of the client"),
    ("AMT_CREDIT", "float64", "Credit amount of the loan"),
    ("AMT_ANNUITY", "float64", "Loan annuity"),
    (
        "AMT_GOODS_PRICE",
        "float64",
        "For consumer loans it is the price of the goods for which the loan is given",
    ),
    ("NAME_TYPE_SUITE", "object", "Who was accompanying client when he was applying for the loan"),
    (
        "NAME_INCOME_TYPE",
        "object",
        "Clients income type (businessman, working, maternity leave,\x85)",
    ),
    ("NAME_EDUCATION_TYPE", "object", "Level of highest education the client achieved"),
    ("NAME_FAMILY_STATUS", "object", "Family status of the client"),
    (
        "NAME_HOUSING_TYPE",
        "object",
        "What is the housing situation of the client (renting, living with parents, ...)",
    ),
    (
        "REGION_POPULATION_RELATIVE",
        "float64",
        "Normalized population of region where client lives (higher number means the client lives in more populated...",
    ),
    ("DAYS_BIRTH", "int64", "Client's age in days at the time of application"),
    (
        "DAYS_EMPLOYED",
        "int64",
        "How many days before the application the person started current employment",
    ),
    (
        "DAYS_REGISTRATION",
        "float64",
        "How many days before the application did client change his registration",
    ),
    (
        "DAYS_ID_PUBLISH",
        "int64",
        "How many days before the application did client change the identity document with which he applied for the...",
    ),
    ("OWN_CAR_AGE", "float64", "Age of client's car"),
    ("FLAG_MOBIL", "int64", "Did client provide mobile phone (1=YES, 0=NO)"),
    ("FLAG_EMP_PHONE", "int64", "Did client provide work phone (1=YES, 0=NO)"),
    ("FLAG_WORK_PHONE", "int64", "Did client provide home phone (1=YES, 0=NO)"),
    ("FLAG_CONT_MOBILE", "int64", "Was mobile phone reachable (1=YES, 0=NO)"),
    ("FLAG_PHONE", "int64", "Did client provide home phone (1=YES, 0=NO)"),
    ("FLAG_EMAIL", "int64", "Did client provide email (1=YES, 0=NO)"),
    ("OCCUPATION_TYPE", "object", "What kind of occupation does the client have"),
    ("CNT_FAM_MEMBERS", "float64", "How many family members does client have"),
    ("REGION_RATING_CLIENT", "int64", "Our rating of the region where client lives (1,2,3)"),
    (
        "REGION_RATING_CLIENT_W_CITY",
        "int64",
        "Our rating of the region where client lives with taking city into account (1,2,3)",
    ),
    (
        "WEEKDAY_APPR_PROCESS_START",
        "object",
        "On which day of the week did the client apply for the loan",
    ),
    (
        "HOUR_APPR_PROCESS_START",
        "int64",
        "Approximately at what hour did the client apply for the loan",
    ),
    (
        "REG_REGION_NOT_LIVE_REGION",
        "int64",
        "Flag if client's permanent address does not match contact address (1=different, 0=same, at region level)",
    ),
    (
        "REG_REGION_NOT_WORK_REGION",
        "int64",
        "Flag if client's permanent address does not match work address (1=different, 0=same, at region level)",
    ),
    (
        "LIVE_REGION_NOT_WORK_REGION",
        "int64",
        "Flag if client's contact address does not match work address (1=different, 0=same, at region level)",
    ),
    (
        "REG_CITY_NOT_LIVE_CITY",
        "int64",
        "Flag if client's permanent address does not match contact address (1=different, 0=same, at city level)",
    ),
    (
        "REG_CITY_NOT_WORK_CITY",
        "int64",
        "Flag if client's permanent address does not match work address (1=different, 0=same, at city level)",
    ),
    (
        "LIVE_CITY_NOT_WORK_CITY",
        "int64",
        "Flag if client's contact address does not match work address (1=different, 0=same, at city level)",
    ),
    ("ORGANIZATION_TYPE", "object", "Type of organization where client works"),
    ("EXT_SOURCE_1", "float64", "Normalized score from external data source"),
    ("EXT_SOURCE_2", "float64", "Normalized score from external data source"),
    ("EXT_SOURCE_3", "float64", "Normalized score from external data source"),
    (
        "APARTMENTS_AVG",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "BASEMENTAREA_AVG",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "YEARS_BEGINEXPLUATATION_AVG",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "YEARS_BUILD_AVG",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "COMMONAREA_AVG",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "ELEVATORS_AVG",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "ENTRANCES_AVG",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "FLOORSMAX_AVG",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "FLOORSMIN_AVG",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "LANDAREA_AVG",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "LIVINGAPARTMENTS_AVG",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "LIVINGAREA_AVG",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "NONLIVINGAPARTMENTS_AVG",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "NONLIVINGAREA_AVG",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "APARTMENTS_MODE",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "BASEMENTAREA_MODE",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "YEARS_BEGINEXPLUATATION_MODE",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "YEARS_BUILD_MODE",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "COMMONAREA_MODE",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "ELEVATORS_MODE",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "ENTRANCES_MODE",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "FLOORSMAX_MODE",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "FLOORSMIN_MODE",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "LANDAREA_MODE",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "LIVINGAPARTMENTS_MODE",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "LIVINGAREA_MODE",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "NONLIVINGAPARTMENTS_MODE",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "NONLIVINGAREA_MODE",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "APARTMENTS_MEDI",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "BASEMENTAREA_MEDI",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "YEARS_BEGINEXPLUATATION_MEDI",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "YEARS_BUILD_MEDI",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "COMMONAREA_MEDI",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "ELEVATORS_MEDI",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "ENTRANCES_MEDI",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "FLOORSMAX_MEDI",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "FLOORSMIN_MEDI",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "LANDAREA_MEDI",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "LIVINGAPARTMENTS_MEDI",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "LIVINGAREA_MEDI",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "NONLIVINGAPARTMENTS_MEDI",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "NONLIVINGAREA_MEDI",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "FONDKAPREMONT_MODE",
        "object",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "HOUSETYPE_MODE",
        "object",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "TOTALAREA_MODE",
        "float64",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "WALLSMATERIAL_MODE",
        "object",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "EMERGENCYSTATE_MODE",
        "object",
        "Normalized information about building where the client lives, What is average (_AVG suffix), modus (_MODE...",
    ),
    (
        "OBS_30_CNT_SOCIAL_CIRCLE",
        "float64",
        "How many observation of client's social surroundings with observable 30 DPD (days past due) default",
    ),
    (
        "DEF_30_CNT_SOCIAL_CIRCLE",
        "float64",
        "How many observation of client's social surroundings defaulted on 30 DPD (days past due)",
    ),
    (
        "OBS_60_CNT_SOCIAL_CIRCLE",
        "float64",
        "How many observation of client's social surroundings with observable 60 DPD (days past due) default",
    ),
    (
        "DEF_60_CNT_SOCIAL_CIRCLE",
        "float64",
        "How many observation of client's social surroundings defaulted on 60 (days past due) DPD",
    ),
    (
        "DAYS_LAST_PHONE_CHANGE",
        "float64",
        "How many days before application did client change phone",
    ),
    ("FLAG_DOCUMENT_2", "int64", "Did client provide document 2"),
    ("FLAG_DOCUMENT_3", "int64", "Did client provide document 3"),
    ("FLAG_DOCUMENT_4", "int64", "Did client provide document 4"),
    ("FLAG_DOCUMENT_5", "int64", "Did client provide document 5"),
    ("FLAG_DOCUMENT_6", "int64", "Did client provide document 6"),
    ("FLAG_DOCUMENT_7", "int64", "Did client provide document 7"),
    ("FLAG_DOCUMENT_8", "int64", "Did client provide document 8"),
    ("FLAG_DOCUMENT_9", "int64", "Did client provide document 9"),
    ("FLAG_DOCUMENT_10", "int64", "Did client provide document 10"),
    ("FLAG_DOCUMENT_11", "int64", "Did client provide document 11"),
    ("FLAG_DOCUMENT_12", "int64", "Did client provide document 12"),
    ("FLAG_DOCUMENT_13", "int64", "Did client provide document 13"),
    ("FLAG_DOCUMENT_14", "int64", "Did client provide document 14"),
    ("FLAG_DOCUMENT_15", "int64", "Did client provide document 15"),
    ("FLAG_DOCUMENT_16", "int64", "Did client provide document 16"),
    ("FLAG_DOCUMENT_17", "int64", "Did client provide document 17"),
    ("FLAG_DOCUMENT_18", "int64", "Did client provide document 18"),
    ("FLAG_DOCUMENT_19", "int64", "Did client provide document 19"),
    ("FLAG_DOCUMENT_20", "int64", "Did client provide document 20"),
    ("FLAG_DOCUMENT_21", "int64", "Did client provide document 21"),
    (
        "AMT_REQ_CREDIT_BUREAU_HOUR",
        "float64",
        "Number of enquiries to Credit Bureau about the client one hour before application",
    ),
    (
        "AMT_REQ_CREDIT_BUREAU_DAY",
        "float64",
        "Number of enquiries to Credit Bureau about the client one day before application (excluding one hour...",
    ),
    (
        "AMT_REQ_CREDIT_BUREAU_WEEK",
        "float64",
        "Number of enquiries to Credit Bureau about the client one week before application (excluding one day...",
    ),
    (
        "AMT_REQ_CREDIT_BUREAU_MON",
        "float64",
        "Number of enquiries to Credit Bureau about the client one month before application (excluding one week...",
    ),
    (
        "AMT_REQ_CREDIT_BUREAU_QRT",
        "float64",
        "Number of enquiries to Credit Bureau about the client 3 month before application (excluding one month...",
    ),
    (
        "AMT_REQ_CREDIT_BUREAU_YEAR",
        "float64",
        "Number of enquiries to Credit Bureau about the client one day year (excluding last 3 months before...",
    ),
)

_BUREAU_COLUMNS = _columns(
    (
        "SK_ID_CURR",
        "int64",
        "ID of loan in our sample - one loan in our sample can have 0,1,2 or more related previous credits in...",
    ),
    (
        "SK_ID_BUREAU",
        "int64",
        "Recoded ID of previous Credit Bureau credit related to our loan (unique coding for each loan application)",
    ),
    ("CREDIT_ACTIVE", "object", "Status of the Credit Bureau (CB) reported credits"),
    ("CREDIT_CURRENCY", "object", "Recoded currency of the Credit Bureau credit"),
    (
        "DAYS_CREDIT",
        "int64",
        "How many days before current application did client apply for Credit Bureau credit",
    ),
    (
        "CREDIT_DAY_OVERDUE",
        "int64",
        "Number of days past due on CB credit at the time of application for related loan in our sample",
    ),
    (
        "DAYS_CREDIT_ENDDATE",
        "float64",
        "Remaining duration of CB credit (in days) at the time of application in Home Credit",
    ),
    (
        "DAYS_ENDDATE_FACT",
        "float64",
        "Days since CB credit ended at the time of application in Home Credit (only for closed credit)",
    ),
    (
        "AMT_CREDIT_MAX_OVERDUE",
        "float64",
        "Maximal amount overdue on the Credit Bureau credit so far (at application date of loan in our sample)",
    ),
    ("CNT_CREDIT_PROLONG", "int64", "How many times was the Credit Bureau credit prolonged"),
    ("AMT_CREDIT_SUM", "float64", "Current credit amount for the Credit Bureau credit"),
    ("AMT_CREDIT_SUM_DEBT", "float64", "Current debt on Credit Bureau credit"),
    (
        "AMT_CREDIT_SUM_LIMIT",
        "float64",
        "Current credit limit of credit card reported in Credit Bureau",
    ),
    ("AMT_CREDIT_SUM_OVERDUE", "float64", "Current amount overdue on Credit Bureau credit"),
    ("CREDIT_TYPE", "object", "Type of Credit Bureau credit (Car, cash,...)"),
    (
        "DAYS_CREDIT_UPDATE",
        "int64",
        "How many days before loan application did last information about the Credit Bureau credit come",
    ),
    ("AMT_ANNUITY", "float64", "Annuity of the Credit Bureau credit"),
)

_BUREAU_BALANCE_COLUMNS = _columns(
    (
        "SK_ID_BUREAU",
        "int64",
        "Recoded ID of Credit Bureau credit (unique coding for each application) - use this to join to...",
    ),
    (
        "MONTHS_BALANCE",
        "int64",
        "Month of balance relative to application date (-1 means the freshest balance date)",
    ),
    ("STATUS", "object", "Status of Credit Bureau loan during the month (active, closed, DPD0-30,"),
)

_PREVIOUS_APPLICATION_COLUMNS = _columns(
    (
        "SK_ID_PREV",
        "int64",
        "ID of previous credit in Home credit related to loan in our sample. (One loan in our sample can have 0,1,2...",
    ),
    ("SK_ID_CURR", "int64", "ID of loan in our sample"),
    ("NAME_CONTRACT_TYPE", "object", "Contract product type (Cash loan, consumer loan"),
    ("AMT_ANNUITY", "float64", "Annuity of previous application"),
    (
        "AMT_APPLICATION",
        "float64",
        "For how much credit did client ask on the previous application",
    ),
    (
        "AMT_CREDIT",
        "float64",
        "Final credit amount on the previous application. This differs from AMT_APPLICATION in a way that the...",
    ),
    ("AMT_DOWN_PAYMENT", "float64", "Down payment on the previous application"),
    (
        "AMT_GOODS_PRICE",
        "float64",
        "Goods price of good that client asked for (if applicable) on the previous application",
    ),
    (
        "WEEKDAY_APPR_PROCESS_START",
        "object",
        "On which day of the week did the client apply for previous application",
    ),
    (
        "HOUR_APPR_PROCESS_START",
        "int64",
        "Approximately at what day hour did the client apply for the previous application",
    ),
    (
        "FLAG_LAST_APPL_PER_CONTRACT",
        "object",
        "Flag if it was last application for the previous contract. Sometimes by mistake of client or our clerk...",
    ),
    (
        "NFLAG_LAST_APPL_IN_DAY",
        "int64",
        "Flag if the application was the last application per day of the client. Sometimes clients apply for more...",
    ),
    ("RATE_DOWN_PAYMENT", "float64", "Down payment rate normalized on previous credit"),
    ("RATE_INTEREST_PRIMARY", "float64", "Interest rate normalized on previous credit"),
    ("RATE_INTEREST_PRIVILEGED", "float64", "Interest rate normalized on previous credit"),
    ("NAME_CASH_LOAN_PURPOSE", "object", "Purpose of the cash loan"),
    (
        "NAME_CONTRACT_STATUS",
        "object",
        "Contract status (approved, cancelled, ...) of previous application",
    ),
    (
        "DAYS_DECISION",
        "int64",
        "Relative to current application when was the decision about previous application made",
    ),
    (
        "NAME_PAYMENT_TYPE",
        "object",
        "Payment method that client chose to pay for the previous application",
    ),
    ("CODE_REJECT_REASON", "object", "Why was the previous application rejected"),
    (
        "NAME_TYPE_SUITE",
        "object",
        "Who accompanied client when applying for the previous application",
    ),
    (
        "NAME_CLIENT_TYPE",
        "object",
        "Was the client old or new client when applying for the previous application",
    ),
    (
        "NAME_GOODS_CATEGORY",
        "object",
        "What kind of goods did the client apply for in the previous application",
    ),
    ("NAME_PORTFOLIO", "object", "Was the previous application for CASH, POS, CAR,"),
    ("NAME_PRODUCT_TYPE", "object", "Was the previous application x-sell o walk-in"),
    (
        "CHANNEL_TYPE",
        "object",
        "Through which channel we acquired the client on the previous application",
    ),
    ("SELLERPLACE_AREA", "int64", "Selling area of seller place of the previous application"),
    ("NAME_SELLER_INDUSTRY", "object", "The industry of the seller"),
    (
        "CNT_PAYMENT",
        "float64",
        "Term of previous credit at application of the previous application",
    ),
    (
        "NAME_YIELD_GROUP",
        "object",
        "Grouped interest rate into small medium and high of the previous application",
    ),
    ("PRODUCT_COMBINATION", "object", "Detailed product combination of the previous application"),
    (
        "DAYS_FIRST_DRAWING",
        "float64",
        "Relative to application date of current application when was the first disbursement of the previous...",
    ),
    (
        "DAYS_FIRST_DUE",
        "float64",
        "Relative to application date of current application when was the first due supposed to be of the previous...",
    ),
    (
        "DAYS_LAST_DUE_1ST_VERSION",
        "float64",
        "Relative to application date of current application when was the first due of the previous application",
    ),
    (
        "DAYS_LAST_DUE",
        "float64",
        "Relative to application date of current application when was the last due date of the previous application",
    ),
    (
        "DAYS_TERMINATION",
        "float64",
        "Relative to application date of current application when was the expected termination of the previous...",
    ),
    (
        "NFLAG_INSURED_ON_APPROVAL",
        "float64",
        "Did the client requested insurance during the previous application",
    ),
)

_POS_CASH_BALANCE_COLUMNS = _columns(
    (
        "SK_ID_PREV",
        "int64",
        "ID of previous credit in Home Credit related to loan in our sample. (One loan in our sample can have 0,1,2...",
    ),
    ("SK_ID_CURR", "int64", "ID of loan in our sample"),
    (
        "MONTHS_BALANCE",
        "int64",
        "Month of balance relative to application date (-1 means the information to the freshest monthly snapshot,...",
    ),
    ("CNT_INSTALMENT", "float64", "Term of previous credit (can change over time)"),
    ("CNT_INSTALMENT_FUTURE", "float64", "Installments left to pay on the previous credit"),
    ("NAME_CONTRACT_STATUS", "object", "Contract status during the month"),
    ("SK_DPD", "int64", "DPD (days past due) during the month of previous credit"),
    (
        "SK_DPD_DEF",
        "int64",
        "DPD during the month with tolerance (debts with low loan amounts are ignored) of the previous credit",
    ),
)

_INSTALLMENTS_PAYMENTS_COLUMNS = _columns(
    (
        "SK_ID_PREV",
        "int64",
        "ID of previous credit in Home credit related to loan in our sample. (One loan in our sample can have 0,1,2...",
    ),
    ("SK_ID_CURR", "int64", "ID of loan in our sample"),
    (
        "NUM_INSTALMENT_VERSION",
        "float64",
        "Version of installment calendar (0 is for credit card) of previous credit. Change of installment version...",
    ),
    ("NUM_INSTALMENT_NUMBER", "int64", "On which installment we observe payment"),
    (
        "DAYS_INSTALMENT",
        "float64",
        "When the installment of previous credit was supposed to be paid (relative to application date of current loan)",
    ),
    (
        "DAYS_ENTRY_PAYMENT",
        "float64",
        "When was the installments of previous credit paid actually (relative to application date of current loan)",
    ),
    (
        "AMT_INSTALMENT",
        "float64",
        "What was the prescribed installment amount of previous credit on this installment",
    ),
    (
        "AMT_PAYMENT",
        "float64",
        "What the client actually paid on previous credit on this installment",
    ),
)

_CREDIT_CARD_BALANCE_COLUMNS = _columns(
    (
        "SK_ID_PREV",
        "int64",
        "ID of previous credit in Home credit related to loan in our sample. (One loan in our sample can have 0,1,2...",
    ),
    ("SK_ID_CURR", "int64", "ID of loan in our sample"),
    (
        "MONTHS_BALANCE",
        "int64",
        "Month of balance relative to application date (-1 means the freshest balance date)",
    ),
    ("AMT_BALANCE", "float64", "Balance during the month of previous credit"),
    (
        "AMT_CREDIT_LIMIT_ACTUAL",
        "int64",
        "Credit card limit during the month of the previous credit",
    ),
    (
        "AMT_DRAWINGS_ATM_CURRENT",
        "float64",
        "Amount drawing at ATM during the month of the previous credit",
    ),
    ("AMT_DRAWINGS_CURRENT", "float64", "Amount drawing during the month of the previous credit"),
    (
        "AMT_DRAWINGS_OTHER_CURRENT",
        "float64",
        "Amount of other drawings during the month of the previous credit",
    ),
    (
        "AMT_DRAWINGS_POS_CURRENT",
        "float64",
        "Amount drawing or buying goods during the month of the previous credit",
    ),
    (
        "AMT_INST_MIN_REGULARITY",
        "float64",
        "Minimal installment for this month of the previous credit",
    ),
    (
        "AMT_PAYMENT_CURRENT",
        "float64",
        "How much did the client pay during the month on the previous credit",
    ),
    (
        "AMT_PAYMENT_TOTAL_CURRENT",
        "float64",
        "How much did the client pay during the month in total on the previous credit",
    ),
    (
        "AMT_RECEIVABLE_PRINCIPAL",
        "float64",
        "Amount receivable for principal on the previous credit",
    ),
    ("AMT_RECIVABLE", "float64", "Amount receivable on the previous credit"),
    ("AMT_TOTAL_RECEIVABLE", "float64", "Total amount receivable on the previous credit"),
    (
        "CNT_DRAWINGS_ATM_CURRENT",
        "float64",
        "Number of drawings at ATM during this month on the previous credit",
    ),
    (
        "CNT_DRAWINGS_CURRENT",
        "int64",
        "Number of drawings during this month on the previous credit",
    ),
    (
        "CNT_DRAWINGS_OTHER_CURRENT",
        "float64",
        "Number of other drawings during this month on the previous credit",
    ),
    (
        "CNT_DRAWINGS_POS_CURRENT",
        "float64",
        "Number of drawings for goods during this month on the previous credit",
    ),
    ("CNT_INSTALMENT_MATURE_CUM", "float64", "Number of paid installments on the previous credit"),
    (
        "NAME_CONTRACT_STATUS",
        "object",
        "Contract status (active signed,...) on the previous credit",
    ),
    ("SK_DPD", "int64", "DPD (Days past due) during the month on the previous credit"),
    (
        "SK_DPD_DEF",
        "int64",
        "DPD (Days past due) during the month with tolerance (debts with low loan amounts are ignored) of the...",
    ),
)

_TO_APPLICATION = ForeignKey("SK_ID_CURR", "application_train", "SK_ID_CURR")
_TO_PREVIOUS = ForeignKey("SK_ID_PREV", "previous_application", "SK_ID_PREV")

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table("application_train", _APPLICATION_TRAIN_COLUMNS, "SK_ID_CURR", (), 307_511),
        Table(
            "application_test",
            tuple(c for c in _APPLICATION_TRAIN_COLUMNS if c.name != "TARGET"),
            "SK_ID_CURR",
            (),
            48_744,
        ),
        Table("bureau", _BUREAU_COLUMNS, "SK_ID_BUREAU", (_TO_APPLICATION,), 1_716_428),
        Table(
            "bureau_balance",
            _BUREAU_BALANCE_COLUMNS,
            None,
            (ForeignKey("SK_ID_BUREAU", "bureau", "SK_ID_BUREAU"),),
            27_299_925,
        ),
        Table(
            "previous_application",
            _PREVIOUS_APPLICATION_COLUMNS,
            "SK_ID_PREV",
            (_TO_APPLICATION,),
            1_670_214,
        ),
        Table(
            "POS_CASH_balance",
            _POS_CASH_BALANCE_COLUMNS,
            None,
            (_TO_PREVIOUS, _TO_APPLICATION),
            10_001_358,
        ),
        Table(
            "installments_payments",
            _INSTALLMENTS_PAYMENTS_COLUMNS,
            None,
            (_TO_PREVIOUS, _TO_APPLICATION),
            13_605_401,
        ),
        Table(
            "credit_card_balance",
            _CREDIT_CARD_BALANCE_COLUMNS,
            None,
            (_TO_PREVIOUS, _TO_APPLICATION),
            3_840_312,
        ),
    )
}

#: The label column, only in application_train.
TARGET = "TARGET"
#: The client key shared by every table but bureau_balance.
CLIENT_ID = "SK_ID_CURR"
