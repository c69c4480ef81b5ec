-- Contracting of other actors: providers, contracts, referrals (SQLite). Documents are the
-- domain types as JSON; the columns next to them are what queries filter on.

CREATE TABLE contracting_providers (
    id            TEXT PRIMARY KEY NOT NULL,          -- UUIDv7
    organization  TEXT NOT NULL UNIQUE,               -- the provider's caller organisation id
    doc           TEXT NOT NULL,                      -- kia_domain::contracting::Provider
    created_at    TEXT NOT NULL
);

CREATE TABLE contracting_contracts (
    id            TEXT PRIMARY KEY NOT NULL,
    provider_id   TEXT NOT NULL REFERENCES contracting_providers (id),
    municipality  TEXT NOT NULL,
    doc           TEXT NOT NULL,                      -- kia_domain::contracting::Contract
    created_at    TEXT NOT NULL
);

CREATE INDEX contracting_contracts_municipality ON contracting_contracts (municipality, id);
CREATE INDEX contracting_contracts_provider ON contracting_contracts (provider_id, id);

CREATE TABLE contracting_referrals (
    id            TEXT PRIMARY KEY NOT NULL,
    contract_id   TEXT NOT NULL REFERENCES contracting_contracts (id),
    provider_id   TEXT NOT NULL,
    municipality  TEXT NOT NULL,
    case_id       TEXT NOT NULL REFERENCES cases (id),
    doc           TEXT NOT NULL,                      -- kia_domain::contracting::Referral
    version       INTEGER NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE INDEX contracting_referrals_contract ON contracting_referrals (contract_id, id);
CREATE INDEX contracting_referrals_municipality ON contracting_referrals (municipality, id);
CREATE INDEX contracting_referrals_provider ON contracting_referrals (provider_id, id);
