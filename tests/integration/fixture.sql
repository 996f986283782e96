-- A tiny city for the pipeline test: one grid in Nanhai, one in Shunde,
-- six registered persons with valid resident ids, and the seed's risk areas.
INSERT INTO areas (code, parent, level, name) VALUES
  ('4406', NULL, 'city', '佛山市'),
  ('440605', '4406', 'district', '南海区'),
  ('440605001', '440605', 'town', '桂城街道'),
  ('440605001001', '440605001', 'community', '翠颐社区'),
  ('440605001001001', '440605001001', 'grid', '第1网格'),
  ('440606', '4406', 'district', '顺德区'),
  ('440606001', '440606', 'town', '大良街道'),
  ('440606001001', '440606001', 'community', '新滘社区'),
  ('440606001001001', '440606001001', 'grid', '第1网格');

INSERT INTO households (id, code, grid_code, kind, tags) VALUES
  (1, '440605001001001-00001', '440605001001001', 'registered', '{}'),
  (2, '440605001001001-00002', '440605001001001', 'floating', '{rental}'),
  (3, '440606001001001-00001', '440606001001001', 'registered', '{}');
SELECT setval('households_id_seq', 3);

INSERT INTO persons (id, id_type, id_number, name, phone, sex, birth_date, household_id) VALUES
  (1, 'resident_id', '440605198503120016', '陈志强', '13800000001', 'male', '1985-03-12', 1),
  (2, 'resident_id', '440605199001010022', '李秀英', '13800000002', 'female', '1990-01-01', 1),
  (3, 'resident_id', '44060519781120003X', '黄伟', '13800000003', 'male', '1978-11-20', 2),
  (4, 'resident_id', '440606196507070041', '梁淑芬', '13800000004', 'female', '1965-07-07', 3),
  (5, 'resident_id', '440606200102140055', '何俊杰', '13800000005', 'male', '2001-02-14', 3),
  (6, 'resident_id', '440605199505050060', '吴丽娟', '13800000006', 'female', '1995-05-05', 2);
SELECT setval('persons_id_seq', 6);

INSERT INTO risk_areas (region_code, name, level, valid_from) VALUES
  ('42', '湖北省', 'high', '2020-01-20'),
  ('4201', '武汉市', 'high', '2020-01-20');
