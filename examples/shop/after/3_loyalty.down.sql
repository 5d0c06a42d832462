DROP TABLE loyalty_tiers;
ALTER TABLE customers DROP COLUMN phone;
