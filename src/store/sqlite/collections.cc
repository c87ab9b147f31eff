// Collections: access is decided here, in SQL, from the owner, the visibility and the
// groups the collection is shared with, so that no caller can forget the check.
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "store/sqlite/stores.h"

namespace socle::store::sqlite {
namespace {

constexpr const char* COLLECTION_COLUMNS =
    "c.id, c.owner_id, c.org_id, c.name, c.description, c.visibility, c.embedding_model, "
    "c.chunk_size, c.chunk_overlap, c.created_at, c.updated_at, "
    "(SELECT COUNT(*) FROM documents d WHERE d.collection_id = c.id)";

// Readable by the actor: owner, public, or shared with one of its groups. Three parameters:
// all (the system actor), user id, user id.
constexpr const char* READABLE =
    "(? OR c.owner_id = ? OR c.visibility = 'public' OR EXISTS (SELECT 1 FROM collection_shares s "
    "JOIN group_members m ON m.group_id = s.group_id WHERE s.collection_id = c.id AND "
    "m.user_id = ?))";

// Only the server itself reads every collection: administrators are users here.
int64_t sees_all(const Actor& a) {
  return a.all_tenants && a.user_id == 0 ? 1 : 0;
}

Stmt& bind_readable(Stmt& s, int first, const Actor& a) {
  return s.bind(first, sees_all(a)).bind(first + 1, a.user_id).bind(first + 2, a.user_id);
}

Collection read_row(const Stmt& s) {
  Collection c;
  c.id = s.column_int(0);
  c.owner_id = s.column_int(1);
  c.org_id = s.column_int(2);
  c.name = s.column_text(3);
  c.description = s.column_text(4);
  c.visibility = s.column_text(5) == "public" ? Visibility::PUBLIC : Visibility::PRIVATE;
  c.embedding_model = s.column_text(6);
  c.chunk_size = s.column_int(7);
  c.chunk_overlap = s.column_int(8);
  c.created_at = s.column_int(9);
  c.updated_at = s.column_int(10);
  c.documents = s.column_int(11);
  return c;
}

std::string_view visibility_name(Visibility v) {
  return v == Visibility::PUBLIC ? "public" : "private";
}

Status load_shares(Connection& c, Collection* col) {
  SOCLE_ASSIGN_OR_RETURN(Stmt s, c.db.prepare("SELECT group_id, access FROM collection_shares "
                                              "WHERE collection_id = ? ORDER BY group_id"));
  s.bind(1, col->id);
  col->shares.clear();
  while (true) {
    SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    col->shares.push_back(CollectionShare{
        s.column_int(0), s.column_text(1) == "write" ? ShareAccess::WRITE : ShareAccess::READ});
  }
  return Status::ok();
}

// Replaces the shares; each group must belong to `org_id`.
Status write_shares(Connection& c, Id collection_id, Id org_id,
                    const std::vector<CollectionShare>& shares) {
  SOCLE_ASSIGN_OR_RETURN(Stmt del,
                         c.db.prepare("DELETE FROM collection_shares WHERE collection_id = ?"));
  SOCLE_RETURN_IF_ERROR(del.bind(1, collection_id).run());
  for (const CollectionShare& sh : shares) {
    SOCLE_ASSIGN_OR_RETURN(Stmt g, c.db.prepare("SELECT org_id FROM groups WHERE id = ?"));
    g.bind(1, sh.group_id);
    SOCLE_ASSIGN_OR_RETURN(bool exists, g.step());
    if (!exists || g.column_int(0) != org_id) {
      return invalid_argument(
          "no group " + std::to_string(sh.group_id) + " in the collection owner's organisation",
          "shares");
    }
    SOCLE_ASSIGN_OR_RETURN(Stmt ins, c.db.prepare("INSERT OR REPLACE INTO collection_shares "
                                                  "(collection_id, group_id, access) VALUES "
                                                  "(?, ?, ?)"));
    SOCLE_RETURN_IF_ERROR(
        ins.bind(1, collection_id)
            .bind(2, sh.group_id)
            .bind(3, std::string_view(sh.access == ShareAccess::WRITE ? "write" : "read"))
            .run());
  }
  return Status::ok();
}

Result<Collection> read_one(Connection& c, const Actor& actor, Id id) {
  SOCLE_ASSIGN_OR_RETURN(Stmt s,
                         c.db.prepare(std::string("SELECT ") + COLLECTION_COLUMNS +
                                      " FROM collections c WHERE c.id = ? AND " + READABLE));
  bind_readable(s.bind(1, id), 2, actor);
  SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return not_found("no collection " + std::to_string(id));
  Collection col = read_row(s);
  SOCLE_RETURN_IF_ERROR(load_shares(c, &col));
  return col;
}

}  // namespace

Result<CollectionAccess> collection_access(Connection& c, const Actor& actor, Id id) {
  SOCLE_ASSIGN_OR_RETURN(
      Stmt s, c.db.prepare("SELECT c.owner_id, c.visibility, (SELECT MAX(s.access = 'write') FROM "
                           "collection_shares s JOIN group_members m ON m.group_id = s.group_id "
                           "WHERE s.collection_id = c.id AND m.user_id = ?) FROM collections c "
                           "WHERE c.id = ?"));
  s.bind(1, actor.user_id).bind(2, id);
  SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return CollectionAccess::NONE;
  if (sees_all(actor) != 0 || s.column_int(0) == actor.user_id) return CollectionAccess::OWNER;
  if (!s.column_is_null(2)) {
    return s.column_int(2) != 0 ? CollectionAccess::WRITE : CollectionAccess::READ;
  }
  return s.column_text(1) == "public" ? CollectionAccess::READ : CollectionAccess::NONE;
}

Result<Collection> SqliteCollectionStore::create(const Actor& actor, const Collection& in) {
  if (in.name.empty()) return invalid_argument("a collection needs a name", "name");
  Collection col = in;
  col.owner_id = actor.user_id;
  col.org_id = actor.org_id;
  col.created_at = col.updated_at = c_.clock.unix_seconds();
  col.documents = 0;
  SOCLE_RETURN_IF_ERROR(write_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(
        Stmt st, c_.db.prepare("INSERT INTO collections (owner_id, org_id, name, description, "
                               "visibility, embedding_model, chunk_size, chunk_overlap, "
                               "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    SOCLE_RETURN_IF_ERROR(st.bind(1, col.owner_id)
                              .bind(2, col.org_id)
                              .bind(3, std::string_view(col.name))
                              .bind(4, std::string_view(col.description))
                              .bind(5, visibility_name(col.visibility))
                              .bind(6, std::string_view(col.embedding_model))
                              .bind(7, col.chunk_size)
                              .bind(8, col.chunk_overlap)
                              .bind(9, col.created_at)
                              .bind(10, col.updated_at)
                              .run());
    col.id = c_.db.last_insert_id();
    return write_shares(c_, col.id, col.org_id, col.shares);
  }));
  return col;
}

Result<Collection> SqliteCollectionStore::get(const Actor& actor, Id id) {
  std::lock_guard lock(c_.mu);
  return read_one(c_, actor, id);
}

Result<std::vector<Collection>> SqliteCollectionStore::list(const Actor& actor) {
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(Stmt s,
                         c_.db.prepare(std::string("SELECT ") + COLLECTION_COLUMNS +
                                       " FROM collections c WHERE " + READABLE + " ORDER BY c.id"));
  bind_readable(s, 1, actor);
  std::vector<Collection> out;
  while (true) {
    SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    out.push_back(read_row(s));
  }
  for (Collection& col : out)
    SOCLE_RETURN_IF_ERROR(load_shares(c_, &col));
  return out;
}

Result<CollectionAccess> SqliteCollectionStore::access(const Actor& actor, Id id) {
  std::lock_guard lock(c_.mu);
  return collection_access(c_, actor, id);
}

Result<Collection> SqliteCollectionStore::update(const Actor& actor, Id id,
                                                 const CollectionUpdate& u) {
  if (u.name && u.name->empty()) return invalid_argument("a collection needs a name", "name");
  Collection col;
  SOCLE_RETURN_IF_ERROR(write_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(CollectionAccess a, collection_access(c_, actor, id));
    if (a == CollectionAccess::NONE) return not_found("no collection " + std::to_string(id));
    bool owner_only = u.visibility.has_value() || u.shares.has_value();
    if (a == CollectionAccess::READ || (owner_only && a != CollectionAccess::OWNER)) {
      return Status{StatusCode::PERMISSION_DENIED,
                    owner_only ? "only the collection's owner changes its visibility and sharing"
                               : "collection " + std::to_string(id) + " is read-only to you"};
    }
    SOCLE_ASSIGN_OR_RETURN(col, read_one(c_, Actor::system(), id));
    if (u.name) col.name = *u.name;
    if (u.description) col.description = *u.description;
    if (u.visibility) col.visibility = *u.visibility;
    col.updated_at = c_.clock.unix_seconds();
    SOCLE_ASSIGN_OR_RETURN(Stmt st, c_.db.prepare("UPDATE collections SET name = ?, description = "
                                                  "?, visibility = ?, updated_at = ? WHERE id = "
                                                  "?"));
    SOCLE_RETURN_IF_ERROR(st.bind(1, std::string_view(col.name))
                              .bind(2, std::string_view(col.description))
                              .bind(3, visibility_name(col.visibility))
                              .bind(4, col.updated_at)
                              .bind(5, id)
                              .run());
    if (u.shares) {
      SOCLE_RETURN_IF_ERROR(write_shares(c_, id, col.org_id, *u.shares));
      col.shares = *u.shares;
    }
    return Status::ok();
  }));
  return col;
}

Status SqliteCollectionStore::remove(const Actor& actor, Id id) {
  return write_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(CollectionAccess a, collection_access(c_, actor, id));
    if (a == CollectionAccess::NONE) return not_found("no collection " + std::to_string(id));
    if (a != CollectionAccess::OWNER) {
      return Status{StatusCode::PERMISSION_DENIED, "only the collection's owner deletes it"};
    }
    // Documents, their chunks and the shares go by ON DELETE CASCADE.
    SOCLE_ASSIGN_OR_RETURN(Stmt st, c_.db.prepare("DELETE FROM collections WHERE id = ?"));
    return st.bind(1, id).run();
  });
}

}  // namespace socle::store::sqlite
