-- The demo client store for deploy/compose.yaml: the database `client` with the runtime contract's
-- tables and the demo rows of src/remote/client-demo.ts, readable by the subgraphs' user. MariaDB's
-- image runs this once, when its volume is empty, after it has created MARIADB_USER.
CREATE DATABASE client CHARACTER SET utf8mb4;
USE client;
CREATE TABLE employee (
  employee_id VARCHAR(64)  PRIMARY KEY,
  name        VARCHAR(200) NOT NULL,
  email       VARCHAR(200),
  department  VARCHAR(100)
);
CREATE TABLE bank_account (
  number   VARCHAR(64) NOT NULL,
  owner    VARCHAR(64) NOT NULL,
  bank     VARCHAR(100),
  currency VARCHAR(3),
  PRIMARY KEY (number, owner)
);
INSERT INTO employee (employee_id, name, email, department) VALUES
  ('e-1', 'Ada Lovelace', 'ada.lovelace@example.com', 'Engineering'),
  ('e-2', 'Alan Turing', 'alan.turing@example.com', 'Engineering'),
  ('e-3', 'Grace Hopper', 'grace.hopper@example.com', 'Engineering'),
  ('e-4', 'Edsger Dijkstra', 'edsger.dijkstra@example.com', 'Engineering'),
  ('e-5', 'Barbara Liskov', 'barbara.liskov@example.com', 'Architecture'),
  ('e-6', 'Donald Knuth', 'donald.knuth@example.com', 'Architecture'),
  ('e-7', 'Margaret Hamilton', 'margaret.hamilton@example.com', 'Operations'),
  ('e-8', 'Ken Thompson', 'ken.thompson@example.com', 'Operations'),
  ('e-9', 'Dennis Ritchie', 'dennis.ritchie@example.com', 'Operations'),
  ('e-10', 'Radia Perlman', 'radia.perlman@example.com', 'Networking'),
  ('e-11', 'Vint Cerf', 'vint.cerf@example.com', 'Networking'),
  ('e-12', 'Bob Kahn', 'bob.kahn@example.com', 'Networking'),
  ('e-13', 'Frances Allen', 'frances.allen@example.com', 'Finance'),
  ('e-14', 'John Backus', 'john.backus@example.com', 'Finance'),
  ('e-15', 'Hedy Lamarr', 'hedy.lamarr@example.com', 'Security'),
  ('e-16', 'Whitfield Diffie', 'whitfield.diffie@example.com', 'Security'),
  ('e-17', 'Shafi Goldwasser', 'shafi.goldwasser@example.com', 'Security'),
  ('e-18', 'Leslie Lamport', 'leslie.lamport@example.com', 'Research'),
  ('e-19', 'Tim Berners-Lee', 'tim.berners.lee@example.com', 'Research'),
  ('e-20', 'Katherine Johnson', NULL, NULL);
INSERT INTO bank_account (number, owner, bank, currency) VALUES
  ('ACC-1001', 'e-1', 'First Analytical Bank', 'EUR'),
  ('ACC-1001', 'e-2', 'First Analytical Bank', 'EUR'),
  ('ACC-1002', 'e-1', 'Difference Engine Savings', 'GBP'),
  ('ACC-2001', 'e-3', 'Compiler Credit Union', 'USD'),
  ('ACC-2002', 'e-5', 'Compiler Credit Union', 'USD'),
  ('ACC-3001', 'e-7', 'Apollo Mutual', 'USD'),
  ('ACC-3002', 'e-10', 'Packet Switch Bank', 'CHF'),
  ('ACC-4001', 'e-13', NULL, NULL);
GRANT SELECT ON client.* TO 'integrity'@'%';
