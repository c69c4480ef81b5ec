-- Contracting of other actors: providers, contracts, referrals (PostgreSQL). Documents are the
-- domain types as JSON; the columns next to them are what queries filter on.

CREATE TABLE contracting_providers (
    id            UUID PRIMARY KEY,                   -- UUIDv7
    organization  TEXT NOT NULL UNIQUE,               -- the provider's caller organisation id
    doc           JSONB NOT NULL,                     -- kia_domain::contracting::Provider
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE contracting_contracts (
    id            UUID PRIMARY KEY,
    provider_id   UUID NOT NULL REFERENCES contracting_providers (id),
    municipality  TEXT NOT NULL,
    doc           JSONB NOT NULL,                     -- kia_domain::contracting::Contract
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE INDEX contracting_contracts_municipality ON contracting_contracts (municipality, id);
CREATE INDEX contracting_contracts_provider ON contracting_contracts (provider_id, id);

CREATE TABLE contracting_referrals (
    id            UUID PRIMARY KEY,
    contract_id   UUID NOT NULL REFERENCES contracting_contracts (id),
    provider_id   UUID NOT NULL,
    municipality  TEXT NOT NULL,
    case_id       UUID NOT NULL REFERENCES cases (id),
    doc           JSONB NOT NULL,                     -- kia_domain::contracting::Referral
    version       BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE INDEX contracting_referrals_contract ON contracting_referrals (contract_id, id);
CREATE INDEX contracting_referrals_municipality ON contracting_referrals (municipality, id);
CREATE INDEX contracting_referrals_provider ON contracting_referrals (provider_id, id);
