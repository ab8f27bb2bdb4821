// Help texts.
#include "cli/usage.hpp"

#include "cli/link_type.hpp"

namespace subnic::cli {

std::string main_usage() {
  return "Usage: subnic [ OPTIONS ] OBJECT { COMMAND | help }\n"
         "where  OBJECT := { link | fdb }\n"
         "       OPTIONS := { -V[ersion] | -s[tatistics] | -d[etails] | -h[uman-readable] |\n"
         "                    -iec | -j[son] | -p[retty] | -n[etns] NAME | --socket PATH }\n"
         "The socket defaults to $SUBNIC_SOCKET, else /run/subnic/subnicd.sock.";
}

std::string link_usage() {
  std::string types;
  for (const LinkTypeOps* t : link_types()) {
    types += (types.empty() ? "" : " | ") + std::string{t->kind};
  }
  return "Usage: subnic link add [ link DEV ] [ name ] NAME\n"
         "                  [ address LLADDR ] [ mtu MTU ] [ txqueuelen PACKETS ]\n"
         "                  [ netns NETNSNAME ] [ spoofchk { on | off } ]\n"
         "                  type TYPE [ ARGS ]\n"
         "\n"
         "       subnic link delete { DEVICE | dev DEVICE }\n"
         "\n"
         "       subnic link set { DEVICE | dev DEVICE }\n"
         "                  [ { up | down } ] [ address LLADDR ] [ mtu MTU ]\n"
         "                  [ name NEWNAME ] [ netns NETNSNAME ]\n"
         "                  [ promisc { on | off } ] [ allmulticast { on | off } ]\n"
         "                  [ spoofchk { on | off } ] [ maxmacs NUMBER ]\n"
         "                  [ master DEVICE ] [ nomaster ]\n"
         "                  [ type TYPE ARGS ]\n"
         "\n"
         "       subnic link show [ DEVICE ] [ up ] [ type TYPE ]\n"
         "\n"
         "       subnic link help [ TYPE ]\n"
         "\n"
         "TYPE := { " +
         types + " }";
}

std::string fdb_usage() {
  return "Usage: subnic fdb [ show [ br BRDEV ] [ { brport | dev } DEV ] ]";
}

}  // namespace subnic::cli
