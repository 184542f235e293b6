-- `orders.held_units` (V53) counted a customer's committed units for the orders component's units cap. Since
-- V55 the cap is counted by `catalog.reserve_stock` as the bridge reserves, and the release that stopped
-- calling it has replaced every orders component that did, so nothing calls it any more.
DROP FUNCTION orders.held_units(uuid, jsonb, int8);
