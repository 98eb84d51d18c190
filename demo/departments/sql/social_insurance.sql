-- 人社局: insured persons, monthly contributions, employer headcounts. Owned by role gg_social_insurance.
-- Column comments give the LSB field code each column carries.
CREATE TABLE insured_person (
    person_id           text PRIMARY KEY,    -- AAC002
    si_no               text NOT NULL UNIQUE,-- AAC001: 10 digits
    status              text NOT NULL,       -- AAC031: 1 paying | 2 suspended | 3 terminated
    first_insured_month text NOT NULL,       -- YYYYMM
    current_employer    text,                -- AAB001 as the employer's credit code; NULL when not paying
    updated_on          date NOT NULL
);

CREATE TABLE contribution (
    person_id      text NOT NULL,            -- AAC002
    period         text NOT NULL,            -- AAE003: the month the contribution is for, YYYYMM
    paid_month     text NOT NULL,            -- AAE002: the month it was levied; > period means back-paid (补缴)
    insurance_type text NOT NULL,            -- AAE140: 110 pension, 210 unemployment, 310 medical, 410 injury, 510 maternity
    base           numeric(10, 2) NOT NULL,  -- AAE180
    employer       text NOT NULL,            -- employer credit code
    PRIMARY KEY (person_id, period, insurance_type)
);

CREATE TABLE employer_headcount (            -- insured employees per month (type 110)
    credit_code text NOT NULL,
    month       text NOT NULL,               -- YYYYMM
    headcount   int  NOT NULL,
    PRIMARY KEY (credit_code, month)
);
