-- Persons without an identity document are matched by name, phone and
-- household. A person has a document number exactly when the type names a
-- document, and the matching index holds only the persons without one, so
-- matching a record looks at the few persons of that name without a
-- document, never at all of them (a city has hundreds of thousands).
ALTER TABLE persons ADD CONSTRAINT persons_id_number_with_document
    CHECK ((id_type = 'none') = (id_number IS NULL));
CREATE INDEX persons_undocumented ON persons (name, household_id) WHERE id_number IS NULL;
