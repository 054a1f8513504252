// The column a dataset file adds to every event table (a table with a person
// key, other than the person table): each row's person, as the rowid of that
// person's row in the person table. Query plans join and group events by it
// (an integer) rather than by the person key (text). Its name starts with an
// underscore, which no catalogue column name may (ValidateSqlName), so it
// never collides with a declared column and no query can name it. Files
// imported before it was added lack it; plans over them join by the key.
#ifndef TRENODE_NODE_CATALOGUE_PERSON_ROWID_COLUMN_H_
#define TRENODE_NODE_CATALOGUE_PERSON_ROWID_COLUMN_H_

namespace trenode::catalogue {

inline constexpr char kPersonRowidColumn[] = "_person";

}  // namespace trenode::catalogue

#endif  // TRENODE_NODE_CATALOGUE_PERSON_ROWID_COLUMN_H_
