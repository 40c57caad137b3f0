-- Who hands over at a boundary: per role, the two latest shifts starting at
-- or before it (`db::handoffs::holders`). A GiST range scan led only by the
-- rotation read every shift of it that could overlap, a few milliseconds
-- for a page of search results on a rotation five years old.
CREATE INDEX shifts_rotation_role_start ON shifts (rotation_id, role, starts_at);
