-- pandoc filter for the man pages: a wide Markdown table reads badly on a terminal, so each
-- table becomes a list. A row's first cell is the term; the middle cells follow it as
-- "column: value" pairs; the last cell is the text.
local function cell_inlines(cell)
  return pandoc.utils.blocks_to_inlines(cell.contents)
end

function Table(tbl)
  local names = {}
  for _, row in ipairs(tbl.head.rows) do
    for i, cell in ipairs(row.cells) do names[i] = pandoc.utils.stringify(cell.contents) end
  end
  local items = {}
  for _, body in ipairs(tbl.bodies) do
    for _, row in ipairs(body.body) do
      local cells = row.cells
      local definition = {}
      if #cells > 2 then
        local facts = {}
        for i = 2, #cells - 1 do
          if #facts > 0 then facts[#facts + 1] = pandoc.Str("; ") end
          facts[#facts + 1] = pandoc.Emph({pandoc.Str(names[i] or "")})
          facts[#facts + 1] = pandoc.Str(": ")
          for _, inline in ipairs(cell_inlines(cells[i])) do facts[#facts + 1] = inline end
        end
        definition[#definition + 1] = pandoc.Para(facts)
      end
      if #cells > 1 then
        definition[#definition + 1] = pandoc.Para(cell_inlines(cells[#cells]))
      end
      items[#items + 1] = {cell_inlines(cells[1]), {definition}}
    end
  end
  return pandoc.DefinitionList(items)
end
