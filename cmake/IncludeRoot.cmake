# chunklog_include_root(TARGET SCOPE NAME FOLDER)
#
# Lets TARGET (and, with PUBLIC or INTERFACE, whatever links it) include the
# headers of FOLDER as "NAME/header.hpp", and nothing else of the tree: each
# target and scope gets its own root directory in the build tree holding one
# symbolic link per NAME. An include naming a folder the target may not see
# finds no file, so a dependency pointing the wrong way does not compile.
function(chunklog_include_root target scope name folder)
  set(root ${CMAKE_BINARY_DIR}/include-roots/${target}/${scope})
  get_filename_component(parent ${root}/${name} DIRECTORY)
  file(MAKE_DIRECTORY ${parent})
  if(NOT EXISTS ${root}/${name})
    file(CREATE_LINK ${folder} ${root}/${name} SYMBOLIC)
  endif()
  target_include_directories(${target} ${scope} $<BUILD_INTERFACE:${root}>)
endfunction()
